// Helicone properties arrive as headers, and header names are case-insensitive: fetch-based SDKs
// (openai, @anthropic-ai/sdk) send `helicone-property-environment`, curl users type
// `Helicone-Property-Environment`. Property names are stored as received, so every lookup by
// name has to ignore case, the way src/metrics/metrics.ts propertyKey() does.

/** The value of property `name` (any case); an exact-case match wins over others. */
export function propertyValue(properties: Readonly<Record<string, string>>, name: string): string | undefined {
  // Own properties only: a name such as "constructor" must not read Object.prototype's.
  const exact = Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : undefined;
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const k in properties) if (k.toLowerCase() === lower) return properties[k];
  return undefined;
}
