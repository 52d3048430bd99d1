/**
 * `.PKGINFO`, the metadata file pacman's and apk's packages both carry:
 * `key = value` lines, `#` comments, a repeated key collects its values.
 */
export function parsePkginfo(data: Buffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of data.toString('utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf(' = ');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const list = out.get(key) ?? [];
    list.push(line.slice(eq + 3));
    out.set(key, list);
  }
  return out;
}
