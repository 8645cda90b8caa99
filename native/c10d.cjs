// Prints 1 when the libtorch being built against has c10d's Gloo process group (the header and the exported
// symbols) and Gloo's headers are installed (Debian: libgloo-dev; a LIBTORCH with its own include/gloo), else 0. binding.gyp compiles native/dist.cc with c10d only then; without it the addon still
// builds and its dist* functions say, in one line, that distributed training is unavailable.
// usage: node c10d.cjs [LIBTORCH] (default: $LIBTORCH, else Debian's libtorch-dev)
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = process.argv[2] || process.env.LIBTORCH || '';
const header = root
  ? path.join(root, 'include', 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp')
  : '/usr/include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp';
const libs = root
  ? [path.join(root, 'lib', 'libtorch_cpu.so')]
  : ['/usr/lib/x86_64-linux-gnu/libtorch_cpu.so', '/usr/lib/aarch64-linux-gnu/libtorch_cpu.so', '/usr/lib/libtorch_cpu.so'];
const glooHeaders = [
  ...(root ? [path.join(root, 'include', 'gloo', 'algorithm.h')] : []),
  '/usr/include/gloo/algorithm.h',
];
function has() {
  if (process.env.GENMODELS_NO_C10D) return false;
  if (!fs.existsSync(header)) return false;
  if (!glooHeaders.some((h) => fs.existsSync(h))) return false;
  const lib = libs.find((l) => fs.existsSync(l));
  if (!lib) return false;
  try {
    const out = execFileSync('nm', ['-D', '--defined-only', lib], { maxBuffer: 1 << 28, encoding: 'utf8' });
    return out.includes('_ZN4c10d16ProcessGroupGlooC1') && out.includes('_ZN4c10d8TCPStoreC1');
  } catch {
    return false;
  }
}
process.stdout.write(has() ? '1' : '0');
