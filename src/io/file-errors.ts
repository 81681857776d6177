/** Node file-system errors in words a user can act on. */

const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  ELOOP: 'too many symbolic links (a loop?)',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EEXIST: 'already exists',
  ENXIO: 'no such device',
  ERR_FS_FILE_TOO_LARGE: 'file too large to read',
};

/** A Node error with an errno-style code, or undefined for anything else. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return e instanceof Error && typeof code === 'string' ? code : undefined;
}

/** 'permission denied (EACCES)', or the error's first line. */
export function fileProblem(e: unknown): string {
  const code = errorCode(e);
  const text = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  return code ? `${WORDS[code] ?? text} (${code})` : text;
}
