/**
 * DICOMDIR: the index a CD or PACS export puts at its root. Its directory
 * records name every file of the export (Referenced File ID, path components
 * relative to the DICOMDIR's folder), so a study read through it never opens
 * the viewer programs and other files such media carry. Pure (no Node APIs).
 */
import type { DataSet } from 'dicom-parser';

const DIRECTORY_RECORDS = 'x00041220';
const REFERENCED_FILE_ID = 'x00041500';

/** Where a path's folder ends ('' for a bare name); either separator. */
function folderOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? '' : path.slice(0, cut + 1);
}

/** A path with '/' separators, upper case: how DICOMDIR file IDs compare (media are often copied in lower case). */
export function pathKey(path: string): string {
  return path.replaceAll('\\', '/').toUpperCase();
}

/**
 * The files a DICOMDIR references, as path keys (see pathKey) relative to the
 * same root as `dicomdirPath` (the DICOMDIR's own path).
 */
export function dicomdirReferences(dataSet: DataSet, dicomdirPath: string): Set<string> {
  const folder = folderOf(dicomdirPath);
  const refs = new Set<string>();
  for (const item of dataSet.elements[DIRECTORY_RECORDS]?.items ?? []) {
    const id = item.dataSet?.string(REFERENCED_FILE_ID);
    if (!id) continue;
    const parts = id.split('\\').map((p) => p.trim()).filter(Boolean);
    if (parts.length) refs.add(pathKey(folder + parts.join('/')));
  }
  return refs;
}
