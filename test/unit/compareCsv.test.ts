import * as assert from 'node:assert/strict';
import { csvCell, toCsv } from '../../src/compare/csv';

describe('compare: CSV', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell(' padded '), '" padded "');
    assert.equal(csvCell('plain'), 'plain');
  });

  it('writes numbers as numbers and empty cells for missing values', () => {
    assert.equal(csvCell(0.0021), '0.0021');
    assert.equal(csvCell(-0.5), '-0.5');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(Number.NaN), '');
    assert.equal(csvCell(true), 'true');
  });

  it('neutralises formula injection in text cells', () => {
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), '"\'=HYPERLINK(""http://x"",""y"")"');
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('-1'), "'-1");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  });

  it('joins with CRLF and refuses ragged rows', () => {
    assert.equal(toCsv(['a', 'b'], [[1, 'x'], [null, 'y,z']]), 'a,b\r\n1,x\r\n,"y,z"\r\n');
    assert.throws(() => toCsv(['a', 'b'], [[1]]), /1 cells, header has 2/);
  });

  it('round-trips through a CSV reader', () => {
    const rows = [['=cmd', 'a "b"', 'x\r\ny', 3.5]];
    const text = toCsv(['p', 'q', 'r', 's'], rows);
    assert.deepEqual(parseCsv(text), [['p', 'q', 'r', 's'], ["'=cmd", 'a "b"', 'x\r\ny', '3.5']]);
  });
});

/** A small reference reader (RFC 4180), to check what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); out.push(row); row = []; cell = ''; i++; } else cell += c;
  }
  return out;
}
