/** Extended attributes in the listing's one comparable form: `name=hex` lines, sorted. */
export function xattrLines(map: ReadonlyMap<string, Buffer> | undefined): string {
  if (!map || map.size === 0) return '';
  return [...map].map(([name, value]) => `${name}=${value.toString('hex')}`).sort().join('\n');
}
