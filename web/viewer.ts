/**
 * An axial slice viewer on a 2D canvas: the CT in a window/level, the label
 * map painted in the artery colours of the paper's Fig. 2 (LAD red, LCX blue,
 * RCA green), a strip under the slider marking the slices that hold calcium.
 *
 * Slices are shown in the radiological convention when the affine allows it
 * (patient's right on the screen's left, anterior up); pixels keep their
 * physical aspect ratio.
 */
import type { LabelMap, Volume } from '../src/io/volume.js';

/** Indexed by label: 1 LAD, 2 LCX, 3 RCA. */
export const ARTERY_RGB: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 0],
  [230, 30, 30],
  [40, 90, 255],
  [20, 200, 60],
];

export interface WindowLevel {
  width: number;
  level: number;
}

export const WINDOW_PRESETS: Record<string, WindowLevel> = {
  calcium: { width: 800, level: 200 },
  mediastinum: { width: 400, level: 40 },
  bone: { width: 2000, level: 500 },
  lung: { width: 1500, level: -600 },
};

export class SliceViewer {
  private ct: Volume | undefined;
  private labels: LabelMap | undefined;
  private slice = 0;
  private wl: WindowLevel = WINDOW_PRESETS.calcium!;
  private overlayAlpha = 0.85;
  private flip = { x: false, y: false, known: false };
  private readonly scratch = document.createElement('canvas');

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly strip: HTMLCanvasElement,
    private readonly onSliceChange: (slice: number, count: number) => void,
  ) {}

  get sliceCount(): number {
    return this.ct?.dims[2] ?? 0;
  }

  get currentSlice(): number {
    return this.slice;
  }

  setVolume(ct: Volume): void {
    this.ct = ct;
    this.labels = undefined;
    this.flip = radiologicalFlips(ct.affine);
    this.scratch.width = ct.dims[0];
    this.scratch.height = ct.dims[1];
    this.slice = Math.floor(ct.dims[2] / 2);
    this.render();
  }

  /** Shows `labels` over the CT and jumps to the slice with the most calcium. */
  setLabels(labels: LabelMap | undefined): void {
    this.labels = labels;
    if (labels && this.ct) {
      const counts = this.calciumPerSlice();
      let best = -1;
      counts.forEach((c, z) => {
        if (c > 0 && (best < 0 || c > counts[best]!)) best = z;
      });
      if (best >= 0) this.slice = best;
    }
    this.render();
  }

  setSlice(z: number): void {
    if (!this.ct) return;
    this.slice = Math.max(0, Math.min(this.ct.dims[2] - 1, Math.round(z)));
    this.render();
  }

  setWindow(wl: WindowLevel): void {
    if (!(wl.width > 0) || !Number.isFinite(wl.level)) return;
    this.wl = wl;
    this.render();
  }

  setOverlayAlpha(alpha: number): void {
    this.overlayAlpha = Math.max(0, Math.min(1, alpha));
    this.render();
  }

  private calciumPerSlice(): number[] {
    const out: number[] = [];
    if (!this.ct || !this.labels) return out;
    const [nx, ny, nz] = this.ct.dims;
    const nxy = nx * ny;
    for (let z = 0; z < nz; z++) {
      let c = 0;
      for (let i = z * nxy; i < (z + 1) * nxy; i++) if (this.labels.data[i]! > 0) c++;
      out.push(c);
    }
    return out;
  }

  render(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = globalThis.devicePixelRatio || 1;
    const cssW = this.canvas.clientWidth || 512;
    const cssH = this.canvas.clientHeight || 512;
    if (this.canvas.width !== Math.round(cssW * dpr) || this.canvas.height !== Math.round(cssH * dpr)) {
      this.canvas.width = Math.round(cssW * dpr);
      this.canvas.height = Math.round(cssH * dpr);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.ct) {
      this.renderStrip();
      return;
    }
    const [nx, ny] = this.ct.dims;
    const sctx = this.scratch.getContext('2d')!;
    const img = sctx.createImageData(nx, ny);
    this.paintSlice(img.data);
    sctx.putImageData(img, 0, 0);

    // Fit, keeping the physical aspect ratio of the pixels.
    const wMm = nx * this.ct.spacing[0];
    const hMm = ny * this.ct.spacing[1];
    const s = Math.min(this.canvas.width / wMm, this.canvas.height / hMm);
    const dw = wMm * s;
    const dh = hMm * s;
    ctx.imageSmoothingEnabled = false;
    ctx.save();
    ctx.translate((this.canvas.width - dw) / 2 + (this.flip.x ? dw : 0), (this.canvas.height - dh) / 2 + (this.flip.y ? dh : 0));
    ctx.scale(this.flip.x ? -1 : 1, this.flip.y ? -1 : 1);
    ctx.drawImage(this.scratch, 0, 0, dw, dh);
    ctx.restore();

    // Annotations.
    ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    const lines = [`slice ${this.slice + 1} / ${this.ct.dims[2]}`, `W ${this.wl.width}  L ${this.wl.level}`];
    ctx.fillStyle = 'rgba(0,0,0,0.6)';
    ctx.fillRect(4 * dpr, 4 * dpr, Math.max(...lines.map((l) => ctx.measureText(l).width)) + 10 * dpr, 36 * dpr);
    ctx.fillStyle = 'rgba(255,255,255,0.9)';
    lines.forEach((l, i) => ctx.fillText(l, 9 * dpr, (8 + 16 * i) * dpr));
    if (this.flip.known) {
      ctx.textBaseline = 'middle';
      ctx.fillText('R', 6 * dpr, this.canvas.height / 2);
      ctx.textAlign = 'right';
      ctx.fillText('L', this.canvas.width - 6 * dpr, this.canvas.height / 2);
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      ctx.fillText('A', this.canvas.width / 2, 6 * dpr);
      ctx.textBaseline = 'bottom';
      ctx.fillText('P', this.canvas.width / 2, this.canvas.height - 6 * dpr);
      ctx.textAlign = 'left';
    }
    this.renderStrip();
    this.onSliceChange(this.slice, this.ct.dims[2]);
  }

  private paintSlice(px: Uint8ClampedArray): void {
    const ct = this.ct!;
    const [nx, ny] = ct.dims;
    const off = this.slice * nx * ny;
    const lo = this.wl.level - this.wl.width / 2;
    const k = 255 / this.wl.width;
    const labels = this.labels?.data;
    const a = this.overlayAlpha;
    for (let i = 0; i < nx * ny; i++) {
      const g = Math.max(0, Math.min(255, (ct.data[off + i]! - lo) * k));
      let r = g;
      let gr = g;
      let b = g;
      const label = labels ? labels[off + i]! : 0;
      if (label > 0 && label < 4) {
        const c = ARTERY_RGB[label]!;
        r = g * (1 - a) + c[0] * a;
        gr = g * (1 - a) + c[1] * a;
        b = g * (1 - a) + c[2] * a;
      }
      px[4 * i] = r;
      px[4 * i + 1] = gr;
      px[4 * i + 2] = b;
      px[4 * i + 3] = 255;
    }
  }

  /** One column per slice: the colour of its most frequent artery, grey when it has none. */
  private renderStrip(): void {
    const ctx = this.strip.getContext('2d');
    if (!ctx) return;
    const w = (this.strip.width = this.strip.clientWidth || 300);
    const h = (this.strip.height = this.strip.clientHeight || 8);
    ctx.fillStyle = '#2a2f3a';
    ctx.fillRect(0, 0, w, h);
    if (!this.ct) return;
    const [nx, ny, nz] = this.ct.dims;
    const nxy = nx * ny;
    const colW = w / nz;
    if (this.labels) {
      for (let z = 0; z < nz; z++) {
        const counts = [0, 0, 0, 0];
        for (let i = z * nxy; i < (z + 1) * nxy; i++) counts[this.labels.data[i]!]!++;
        const best = [1, 2, 3].reduce((m, l) => (counts[l]! > counts[m]! ? l : m), 1);
        if (counts[best]! === 0) continue;
        const c = ARTERY_RGB[best]!;
        ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
        ctx.fillRect(z * colW, 0, Math.max(1, colW - 1), h);
      }
    }
    ctx.fillStyle = '#fff';
    ctx.fillRect(this.slice * colW + colW / 2 - 1, 0, 2, h);
  }
}

/**
 * Flips that put voxel axis i on screen right-to-left when it points to the
 * patient's right (+x in RAS) and axis j upwards when it points anterior (+y),
 * i.e. the radiological convention. `known` is false for non-axial grids,
 * which are shown as stored.
 */
export function radiologicalFlips(affine: readonly number[]): { x: boolean; y: boolean; known: boolean } {
  const col = (c: number) => [affine[c]!, affine[4 + c]!, affine[8 + c]!];
  const dominant = (v: number[]) => v.reduce((m, x, i) => (Math.abs(x) > Math.abs(v[m]!) ? i : m), 0);
  const ci = col(0);
  const cj = col(1);
  if (dominant(ci) !== 0 || dominant(cj) !== 1) return { x: false, y: false, known: false };
  return { x: ci[0]! > 0, y: cj[1]! > 0, known: true };
}
