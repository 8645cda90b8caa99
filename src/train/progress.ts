// Progress display: a cli-progress bar with ETA on a TTY, plain log lines otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private total = 0;
  private label = '';
  private t0 = 0;
  private nextLine = 0;
  private readonly mode: 'bar' | 'lines' | 'none';

  constructor(
    mode: ProgressMode = 'auto',
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (out.isTTY ? 'bar' : 'lines') : mode;
  }

  start(total: number, label: string, start = 0): void {
    this.total = total;
    this.label = label;
    this.t0 = Date.now();
    this.nextLine = 0;
    if (this.mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {info}`,
          stream: this.out,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, start, { info: '' });
    }
  }

  update(value: number, info: string): void {
    if (this.mode === 'bar') this.bar?.update(value, { info });
    else if (this.mode === 'lines' && (value >= this.nextLine || value === this.total)) {
      const el = (Date.now() - this.t0) / 1000;
      const eta = value > 0 ? (el / value) * (this.total - value) : NaN;
      this.out.write(
        `${this.label} ${value}/${this.total} ${info}${Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : ''}\n`,
      );
      this.nextLine = value + Math.max(1, Math.ceil(this.total / 10));
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  /** a line of text that does not garble the bar */
  log(s: string): void {
    if (this.mode === 'none') return;
    this.out.write(s + '\n');
  }
}
