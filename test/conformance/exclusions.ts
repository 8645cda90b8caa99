// tfjs-core tests that do not apply to the 'torch' backend, each with its reason.
// A test is excluded when its full jasmine name contains `match`.
export interface Exclusion {
  match: string;
  reason: string;
}

export const EXCLUSIONS: Exclusion[] = [
  { match: 'complex64', reason: 'complex dtypes are not supported by the torch backend (documented)' },
  { match: 'complex', reason: 'complex dtypes are not supported by the torch backend (documented)' },
  { match: 'fft', reason: 'FFT kernels take complex64 tensors (not supported)' },
  { match: 'FFT', reason: 'FFT kernels take complex64 tensors (not supported)' },
  { match: 'Complex', reason: 'complex dtypes are not supported by the torch backend (documented)' },
  { match: 'stft', reason: 'stft produces complex64 tensors (not supported)' },
  { match: 'add torch {} upcasts when dtypes dont match', reason: 'its last cases add complex64 tensors' },
  {
    match: 'sub torch {} upcasts when dtypes dont match',
    reason: 'its last cases subtract complex64 tensors',
  },
  {
    match: 'maxPool torch {} [x=[3,3,1] f=[2,2] s=1 ignores NaNs',
    reason: 'ATen max pooling propagates NaN (like PyTorch); tfjs-cpu skips it (documented difference)',
  },
];
