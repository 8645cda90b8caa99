# bf16 micro-measurement (docs/bf16.md): matmul and conv2d, fp32 vs bf16 inputs vs autocast, fwd and fwd+bwd.
#   /usr/bin/python3 bench/bf16_micro.py THREADS [unet|mm]
# mm: the matmul sizes of W1, Glow's 1x1 convolutions and the U-Net, fp32 mm vs cast + bf16 mm + cast back (what
# the policy runs): where bf16 stops paying (kernels-conv.ts BF16_MATMUL_MIN_MACS)
import sys, time, torch
import torch.nn.functional as F

def timeit(fn, min_time=1.0, warm=2):
    for _ in range(warm):
        fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= 3:
            return dt / n

def case_mm(n):
    a32 = torch.randn(n, n); b32 = torch.randn(n, n)
    flops = 2 * n ** 3
    return 'matmul %dx%d' % (n, n), flops, lambda a, b: a @ b, (a32, b32)

def case_conv(B, Ci, Co, H, k, pad):
    x = torch.randn(B, Ci, H, H).contiguous(memory_format=torch.channels_last)
    w = torch.randn(Co, Ci, k, k).contiguous(memory_format=torch.channels_last)
    Ho = H + 2 * pad - k + 1
    flops = 2 * B * Co * Ho * Ho * Ci * k * k
    return 'conv %d->%d %dx%d on [%d,%d,%d,%d] CL' % (Ci, Co, k, k, B, Ci, H, H), flops, lambda x, w: F.conv2d(x, w, padding=pad), (x, w)

def run(name, flops, f, args):
    rows = []
    for mode in ('fp32', 'bf16', 'autocast'):
        for bwd in (False, True):
            if mode == 'bf16':
                xs = [a.to(torch.bfloat16) for a in args]
            else:
                xs = [a.clone() for a in args]
            for x in xs: x.requires_grad_(bwd)
            def step():
                if mode == 'autocast':
                    with torch.autocast('cpu', dtype=torch.bfloat16):
                        y = f(*xs)
                    y = y.float()
                else:
                    y = f(*xs)
                if bwd:
                    y.float().sum().backward()
            t = timeit(step)
            fl = flops * (3 if bwd else 1)
            rows.append((mode, 'fwd+bwd' if bwd else 'fwd', t * 1e3, fl / t / 1e9))
    return rows

def us_per_call(f, n=200):
    """median of 5 blocks of n calls, us per call"""
    for _ in range(20):
        f()
    r = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        r.append((time.perf_counter() - t0) / n * 1e6)
    return sorted(r)[2]


def mm_sweep():
    sizes = [(3136, 4, 4), (3136, 8, 8), (784, 16, 16), (3136, 16, 16), (64, 64, 64), (16, 784, 64),
             (128, 512, 32), (128, 32, 512), (32, 128, 512), (128, 784, 512), (512, 128, 784), (784, 128, 512)]
    for m, k, n in sizes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        f32 = us_per_call(lambda: a @ b)
        low = us_per_call(lambda: (a.bfloat16() @ b.bfloat16()).float())
        print('mm %5dx%4dx%4d (%9d MACs)  fp32 %8.1f us  cast+bf16+cast %8.1f us  ratio %.2f'
              % (m, k, n, m * k * n, f32, low, low / f32), flush=True)


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    if sys.argv[2:] == ['mm']:
        print('torch', torch.__version__, 'threads', threads)
        return mm_sweep()
    if sys.argv[2:] == ['unet']:  # the U-Net (U) workload's convolutions: batch 16, 16/32/32 channels
        cases = [case_conv(16, 16, 16, 28, 3, 1), case_conv(16, 32, 32, 14, 3, 1), case_conv(16, 32, 32, 7, 3, 1),
                 case_conv(16, 1, 16, 28, 3, 1), case_conv(16, 16, 1, 28, 3, 1)]
    else:
        cases = [case_mm(512), case_mm(2048), case_conv(64, 64, 64, 28, 3, 1),
                 case_conv(64, 1, 64, 28, 3, 1), case_conv(64, 64, 64, 28, 1, 0),  # W2 first conv / 1x1
                 case_conv(16, 2, 64, 14, 3, 1), case_conv(16, 64, 64, 14, 1, 0), case_conv(16, 64, 4, 14, 3, 1)]  # Glow L1 sizes
    print('torch', torch.__version__, 'threads', threads)
    for name, flops, f, args in cases:
        for mode, d, ms, gf in run(name, flops, f, args):
            print('%-40s %-9s %-8s %9.3f ms %8.1f GFLOP/s' % (name, mode, d, ms, gf), flush=True)


if __name__ == '__main__':
    main()
