// The price table behind PriceBook, kept in its own module so that it can be its own esbuild entry
// (dist/prices.js): genai-prices' data is ~480 KB minified, a third of the extension bundle, and
// activation never needs it (the first priced record or hover loads it; see priceBook.ts genai()).
export * from '@pydantic/genai-prices';
