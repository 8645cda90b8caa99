// What a dataset looks like to a model.
export interface DataSpec {
  /** 'image': x is [H, W, C] (NHWC, as tfjs); 'vector': x is [D] */
  kind: 'image' | 'vector';
  shape: number[];
  /**
   * Value domain of x as the model sees it:
   *  'binary'     {0,1} (e.g. dynamically binarized MNIST)
   *  'unit'       continuous in [0,1] (pixel / 255, optionally dequantized)
   *  'real'       unbounded reals (standardized tables, 2D toys, logit-transformed images)
   */
  domain: 'binary' | 'unit' | 'real';
  /** number of classes when labels exist */
  numClasses?: number;
  /** for images that came from 8-bit data: 256 (needed for bits/dim of the original data) */
  levels?: number;
}

export function dims(spec: DataSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}
