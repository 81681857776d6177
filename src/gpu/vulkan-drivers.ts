/**
 * Which Vulkan drivers the loader could find (Node, Linux), without asking it.
 *
 * Asking Dawn for a hardware adapter on a machine with no Vulkan driver makes
 * the loader and Dawn print "vkCreateInstance: Found no drivers!" and a source
 * path of the machine that built Dawn, from native code straight to fd 2 where
 * JavaScript cannot filter it. The loader only ever loads drivers named by a
 * JSON manifest, in the places listed here (Vulkan loader documentation,
 * "Driver Discovery on Linux"), so when there is none the hardware probe can be
 * skipped and nothing is printed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variables that name driver manifests directly (any of them makes the loader look). */
const DRIVER_ENV = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES'] as const;

/** The folders the Linux loader searches for `vulkan/icd.d/*.json`, in its order. */
export function vulkanManifestDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME || homedir();
  const split = (v: string | undefined, fallback: string) => (v || fallback).split(':').filter(Boolean);
  const roots = [
    env.XDG_CONFIG_HOME || join(home, '.config'),
    ...split(env.XDG_CONFIG_DIRS, '/etc/xdg'),
    '/usr/local/etc',
    '/etc',
    env.XDG_DATA_HOME || join(home, '.local', 'share'),
    ...split(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share'),
  ];
  return [...new Set(roots.map((r) => join(r, 'vulkan', 'icd.d')))];
}

/**
 * The driver manifests the loader would read: those named by the environment,
 * else the *.json files in the search folders. SwiftShader's own manifest is
 * left out (it lives beside Chromium, not in these folders, unless installed).
 */
export function vulkanDriverManifests(env: NodeJS.ProcessEnv = process.env): string[] {
  const named = DRIVER_ENV.flatMap((k) => (env[k] ?? '').split(':').filter(Boolean));
  if (named.length) return named.filter((f) => !/swiftshader/i.test(f));
  const found: string[] = [];
  for (const dir of vulkanManifestDirs(env)) {
    if (!existsSync(dir)) continue;
    try {
      for (const name of readdirSync(dir).sort()) if (name.endsWith('.json') && !/swiftshader/i.test(name)) found.push(join(dir, name));
    } catch {
      /* unreadable folder: the loader cannot read it either */
    }
  }
  return found;
}
