/**
 * The CAC-Net page: open a scan (NIfTI, DICOM folder or a phantom), score it
 * on WebGPU, look through it with the calcium painted per artery, download the
 * label map and the report.
 *
 * The page's state is mirrored on <body data-state="…"> (starting, ready,
 * loading, running, done, error), the problem shown on data-problem, the number
 * of scans opened so far on data-opens, and the exact scores on the result
 * cells' data-value attributes: for the end-to-end test and for scripting.
 */
import { ARTERIES, type LabelMap } from '../src/io/volume.js';
import { encodeLabelMapNifti, gzip } from '../src/io/nifti.js';
import { scanReportJson } from '../src/scoring/report-json.js';
import type { ArteryScore, ScanScore } from '../src/scoring/score.js';
import { Engine, WEIGHTS_URL } from './engine.js';
import { describeProblem, type Problem } from './problems.js';
import { filesFromDrop, makePhantom, openFiles, type LoadedScan } from './scan-input.js';
import { phantomKind } from '../src/phantom/for-network.js';
import { SliceViewer, WINDOW_PRESETS } from './viewer.js';

type State = 'starting' | 'ready' | 'loading' | 'running' | 'done' | 'error';

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

const ui = {
  adapter: $('adapter'),
  banner: $('banner'),
  bannerTitle: $('banner-title'),
  bannerDetail: $('banner-detail'),
  drop: $('drop'),
  fileNifti: $<HTMLInputElement>('file-nifti'),
  fileDicom: $<HTMLInputElement>('file-dicom'),
  phantom: $<HTMLButtonElement>('phantom'),
  phantomSeed: $<HTMLInputElement>('phantom-seed'),
  phantomRisk: $<HTMLSelectElement>('phantom-risk'),
  scanInfo: $('scan-info'),
  run: $<HTMLButtonElement>('run'),
  progress: $<HTMLProgressElement>('progress'),
  status: $('status'),
  results: $<HTMLTableElement>('results'),
  risk: $('risk'),
  truth: $('truth'),
  conventions: $('conventions'),
  dlLabels: $<HTMLAnchorElement>('dl-labels'),
  dlReport: $<HTMLAnchorElement>('dl-report'),
  view: $<HTMLCanvasElement>('view'),
  strip: $<HTMLCanvasElement>('strip'),
  slice: $<HTMLInputElement>('slice'),
  sliceLabel: $<HTMLOutputElement>('slice-label'),
  ww: $<HTMLInputElement>('ww'),
  wl: $<HTMLInputElement>('wl'),
  wlPreset: $<HTMLSelectElement>('wl-preset'),
  alpha: $<HTMLInputElement>('alpha'),
  overlaySource: $<HTMLSelectElement>('overlay-source'),
};

let scan: LoadedScan | undefined;
/** The network's label map for `scan`, once scored. */
let predicted: LabelMap | undefined;
let busy = false;
let engine: Promise<Engine> | undefined;
const downloadUrls: string[] = [];

const viewer = new SliceViewer(ui.view, ui.strip, (z, n) => {
  ui.slice.max = String(n - 1);
  ui.slice.value = String(z);
  ui.slice.disabled = false;
  ui.sliceLabel.value = `${z + 1} / ${n}`;
});

// ------------------------------------------------------------- state ----

function setState(state: State): void {
  document.body.dataset.state = state;
  const working = state === 'loading' || state === 'running' || state === 'starting';
  ui.run.disabled = working || !scan;
  ui.phantom.disabled = state === 'loading' || state === 'running';
  ui.fileNifti.disabled = ui.phantom.disabled;
  ui.fileDicom.disabled = ui.phantom.disabled;
}

function status(text: string): void {
  ui.status.textContent = text;
}

function showProblem(p: Problem): void {
  ui.bannerTitle.textContent = p.title;
  ui.bannerDetail.textContent = p.detail;
  ui.banner.hidden = false;
  document.body.dataset.problem = p.kind;
}

function clearProblem(): void {
  ui.banner.hidden = true;
  delete document.body.dataset.problem;
}

// ------------------------------------------------------------ engine ----

function getEngine(): Promise<Engine> {
  engine ??= Engine.create(status).then(
    (e) => {
      const info = e.info;
      ui.adapter.textContent = `WebGPU: ${info.adapter}${info.software ? ' (software)' : ''}`;
      ui.adapter.className = 'adapter ok';
      ui.adapter.title = `max storage binding ${info.maxBindingMiB.toFixed(0)} MiB; weights ${WEIGHTS_URL}`;
      return e;
    },
    (error: unknown) => {
      engine = undefined; // a later click tries again (e.g. after the weights appear)
      const p = describeProblem(error, 'score');
      ui.adapter.textContent = p.kind === 'no-webgpu' ? 'WebGPU: unavailable' : 'WebGPU: not ready';
      ui.adapter.className = 'adapter bad';
      throw error;
    },
  );
  return engine;
}

// -------------------------------------------------------------- scans ----

async function open(load: () => Promise<LoadedScan> | LoadedScan, what: string): Promise<void> {
  if (busy) return;
  busy = true;
  document.body.dataset.opens = String(Number(document.body.dataset.opens ?? 0) + 1);
  clearProblem();
  setState('loading');
  status(`Opening ${what}…`);
  try {
    // Let the status paint before a long synchronous decode or phantom.
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const loaded = await load();
    scan = loaded;
    showScan(loaded);
    resetResults();
  } catch (error) {
    busy = false;
    showProblem(describeProblem(error, 'open'));
    status(scan ? 'The previous scan is still shown.' : 'Open a scan or generate a phantom.');
    setState('error');
    return;
  }
  busy = false;
  await score();
}

function showScan(s: LoadedScan): void {
  const { dims, spacing } = s.ct;
  const rows: Array<[string, string]> = [
    ['scan', s.ct.source],
    ['format', s.format === 'phantom' ? 'synthetic phantom' : s.format === 'nifti' ? 'NIfTI' : 'DICOM series'],
    ['size', `${dims.join(' × ')} voxels`],
    ['voxel', `${spacing.map((x) => x.toFixed(2)).join(' × ')} mm`],
    // The study's series, the chosen one marked, as the CLI prints them.
    ...(s.study ? ([['series', s.study.slice(1).join('\n')]] as Array<[string, string]>) : []),
    ...s.notes.map((n): [string, string] => ['note', n]),
  ];
  ui.scanInfo.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  ui.scanInfo.hidden = false;
  predicted = undefined;
  ui.overlaySource.value = 'prediction';
  ui.overlaySource.hidden = !s.truth;
  viewer.setVolume(s.ct);
}

/** Paints the network's labels, or a phantom's ground truth, as the overlay select says. */
function showOverlay(): void {
  viewer.setLabels(ui.overlaySource.value === 'truth' ? scan?.truth?.labels : predicted);
}

function resetResults(): void {
  for (const td of ui.results.querySelectorAll<HTMLTableCellElement>('td[data-field]')) {
    td.textContent = '–';
    delete td.dataset.value;
  }
  ui.risk.textContent = '–';
  delete ui.risk.dataset.value;
  ui.truth.hidden = true;
  ui.conventions.textContent = '';
  ui.progress.value = 0;
  for (const url of downloadUrls.splice(0)) URL.revokeObjectURL(url);
  for (const a of [ui.dlLabels, ui.dlReport]) {
    a.removeAttribute('href');
    a.setAttribute('aria-disabled', 'true');
  }
}

// -------------------------------------------------------------- score ----

async function score(): Promise<void> {
  const s = scan;
  if (!s || busy) return;
  busy = true;
  clearProblem();
  resetResults();
  setState('running');
  ui.progress.removeAttribute('value'); // indeterminate while the device and weights load
  try {
    const e = await getEngine();
    status('Running the network…');
    ui.progress.value = 0;
    const t0 = performance.now();
    const result = await e.score(s.ct, (done, total) => {
      ui.progress.value = done / total;
      status(`Running the network: window ${done} of ${total}…`);
    });
    const seconds = (performance.now() - t0) / 1000;
    showResults(s, result.labels, result.score);
    await offerDownloads(s, result.labels, result.score, e);
    const { belowFloor, partOfBone, farFromArteries } = result.setAside;
    const setAside = belowFloor + partOfBone + farFromArteries
      ? ` Set aside: ${belowFloor} lesion(s) below the noise floor (${result.floorHU.toFixed(0)} HU peak), ${partOfBone} part of a bone, ${farFromArteries} too far from every artery.`
      : '';
    status(`Scored in ${seconds.toFixed(1)} s on ${e.info.adapter}.${setAside}`);
    setState('done');
  } catch (error) {
    showProblem(describeProblem(error, 'score'));
    status('Scoring did not finish.');
    ui.progress.value = 0;
    setState('error');
    if (engine && (await engine.then((e) => e.lost, () => false))) engine = undefined; // a lost device: start afresh next time
  } finally {
    busy = false;
    ui.run.disabled = false;
  }
}

function fmt(x: number, digits: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function showResults(s: LoadedScan, labels: LabelMap, sc: ScanScore): void {
  const rows: Array<[string, ArteryScore]> = [...ARTERIES.map((a) => [a, sc.perArtery[a]] as [string, ArteryScore]), ['total', sc.total]];
  for (const [artery, v] of rows) {
    const tr = ui.results.querySelector(`tr[data-artery="${artery}"]`)!;
    const cells: Array<[keyof ArteryScore, number]> = [
      ['agatston', 1],
      ['volumeMm3', 1],
      ['massMg', 1],
      ['lesionCount', 0],
    ];
    for (const [field, digits] of cells) {
      const td = tr.querySelector<HTMLTableCellElement>(`td[data-field="${field}"]`)!;
      td.textContent = fmt(v[field], digits);
      td.dataset.value = String(v[field]);
    }
  }
  ui.risk.textContent = `${sc.riskCategory}: ${sc.riskLabel}`;
  ui.risk.dataset.value = String(sc.riskCategory);
  ui.conventions.textContent =
    `Calcium ≥ ${sc.conventions.thresholdHU} HU, lesions ${sc.conventions.connectivity}-connected and > ${sc.conventions.minLesionVolumeMm3} mm³; ` +
    `${sc.conventions.sliceThicknessNormalisation}; mass calibration ${sc.conventions.massCalibration} mg/(mm³·HU).`;
  if (s.truth) {
    const t = s.truth.score;
    ui.truth.textContent = `Phantom ground truth: Agatston ${fmt(t.total.agatston, 1)} (LAD ${fmt(t.perArtery.LAD.agatston, 1)}, LCX ${fmt(t.perArtery.LCX.agatston, 1)}, RCA ${fmt(t.perArtery.RCA.agatston, 1)}), risk category ${t.riskCategory}.`;
    ui.truth.hidden = false;
  }
  predicted = labels;
  showOverlay();
}

async function offerDownloads(s: LoadedScan, labels: LabelMap, sc: ScanScore, e: Engine): Promise<void> {
  const nii = await gzip(encodeLabelMapNifti(labels, s.nifti, `${s.id}_labels.nii.gz`));
  const report = scanReportJson(sc, {
    id: s.id,
    source: s.ct.source,
    dims: s.ct.dims,
    spacing: s.ct.spacing,
    software: 'cacnet web',
    ...(s.acquisition ? { acquisition: s.acquisition } : {}),
    ...(s.notes.length ? { notes: s.notes } : {}),
    extra: { weights: WEIGHTS_URL, adapter: e.info.adapter },
  });
  const link = (a: HTMLAnchorElement, blob: Blob, name: string) => {
    const url = URL.createObjectURL(blob);
    downloadUrls.push(url);
    a.href = url;
    a.download = name;
    a.removeAttribute('aria-disabled');
  };
  link(ui.dlLabels, new Blob([nii as Uint8Array<ArrayBuffer>], { type: 'application/gzip' }), `${s.id}_labels.nii.gz`);
  link(ui.dlReport, new Blob([report], { type: 'application/json' }), `${s.id}.json`);
}

// -------------------------------------------------------------- wiring ----

ui.fileNifti.addEventListener('change', () => {
  const files = [...(ui.fileNifti.files ?? [])];
  ui.fileNifti.value = '';
  if (files.length) void open(() => openFiles(files), files[0]!.name);
});

ui.fileDicom.addEventListener('change', () => {
  const files = [...(ui.fileDicom.files ?? [])];
  ui.fileDicom.value = '';
  if (files.length) void open(() => openFiles(files), 'the DICOM folder');
});

ui.drop.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  ui.drop.classList.remove('over');
  const dt = ev.dataTransfer;
  if (!dt) return;
  // The entries must be read before this handler returns.
  const dropped = filesFromDrop(dt);
  void open(async () => {
    const { files, folder } = await dropped;
    return openFiles(files, folder);
  }, 'the dropped scan');
});
// A file dropped outside the drop zone must not navigate away from the page.
window.addEventListener('dragover', (ev) => ev.preventDefault());
window.addEventListener('drop', (ev) => ev.preventDefault());

ui.phantom.addEventListener('click', () => {
  const seed = Math.max(0, Math.floor(Number(ui.phantomSeed.value) || 0));
  const risk = Number(ui.phantomRisk.value);
  // The phantom the network was made for: scanner-size for a working-grid network (falls back to the small one without a network).
  void open(async () => makePhantom(seed, risk, await getEngine().then((e) => phantomKind(e.model.config, 'evaluate'), () => ({ preset: 'small' as const }))), `phantom (seed ${seed})`);
});

ui.run.addEventListener('click', () => void score());

ui.slice.addEventListener('input', () => viewer.setSlice(Number(ui.slice.value)));
ui.view.addEventListener(
  'wheel',
  (ev) => {
    if (!viewer.sliceCount) return;
    ev.preventDefault();
    viewer.setSlice(viewer.currentSlice + Math.sign(ev.deltaY));
  },
  { passive: false },
);
window.addEventListener('keydown', (ev) => {
  if (!viewer.sliceCount || (ev.target as HTMLElement).closest('input, select')) return;
  if (ev.key === 'ArrowUp' || ev.key === 'PageUp') viewer.setSlice(viewer.currentSlice + 1);
  else if (ev.key === 'ArrowDown' || ev.key === 'PageDown') viewer.setSlice(viewer.currentSlice - 1);
  else return;
  ev.preventDefault();
});

function applyWindow(): void {
  viewer.setWindow({ width: Number(ui.ww.value), level: Number(ui.wl.value) });
}
ui.ww.addEventListener('input', () => {
  ui.wlPreset.value = 'custom';
  applyWindow();
});
ui.wl.addEventListener('input', () => {
  ui.wlPreset.value = 'custom';
  applyWindow();
});
ui.wlPreset.addEventListener('change', () => {
  const p = WINDOW_PRESETS[ui.wlPreset.value];
  if (!p) return;
  ui.ww.value = String(p.width);
  ui.wl.value = String(p.level);
  applyWindow();
});
ui.alpha.addEventListener('input', () => viewer.setOverlayAlpha(Number(ui.alpha.value)));
ui.overlaySource.addEventListener('change', showOverlay);
window.addEventListener('resize', () => viewer.render());

// ------------------------------------------------------------- start ----

viewer.render();
setState('starting');
getEngine().then(
  () => {
    status('Ready: open a scan or generate a phantom.');
    setState('ready');
  },
  (error: unknown) => {
    const p = describeProblem(error, 'score');
    showProblem(p);
    status(p.kind === 'no-webgpu' ? 'Scans can still be opened and viewed; scoring needs WebGPU.' : 'Scans can still be opened and viewed.');
    setState('error');
  },
);
