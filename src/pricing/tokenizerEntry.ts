// The token counter behind usage estimates, kept in its own module so that it can be its own
// esbuild entry (dist/tokenizer.js): the BPE table is ~1 MB minified, more than the rest of the
// extension bundle, and only streams without reported usage ever need it (see usage.ts loadCounter).
//
// One encoding for every model, cl100k_base: o200k_base (GPT-4o and later) would be exact for modern
// OpenAI models but weighs 2.8 MB minified (1.1 MB gzipped), which alone breaks the .vsix budget;
// cl100k is exact for GPT-4 / GPT-3.5 and close for o200k models on English text and code. Anthropic
// does not publish its tokenizer, so Claude counts are an approximation either way.
export { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

export const ENCODING = 'cl100k_base';
