// docs/benchmarks.md is rewritten by every bench run: a section's hand-written notes (text after its
// end marker) must survive a run of that section and of the others.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeDoc, parseNotes, sectionBlock } from '../../bench/lib/doc.js';

const doc = (...parts: string[]) => parts.join('\n\n');

test('notes after a section are kept when that section is run again, and when another is', () => {
  const old = doc('# old header', sectionBlock('a', 'A old'), '## Notes on a\n\nkept text', sectionBlock('b', 'B old'), 'notes on b');
  const rerunA = composeDoc(old, 'machine', new Map([['a', sectionBlock('a', 'A new')]]), ['a', 'b']);
  assert.match(rerunA, /A new[\s\S]*:end -->\n\n## Notes on a\n\nkept text\n\n<!-- bench:section:b:begin -->\nB old/);
  assert.doesNotMatch(rerunA, /A old/);
  assert.match(rerunA, /B old\n<!-- bench:section:b:end -->\n\nnotes on b\n$/);
  const rerunB = composeDoc(rerunA, 'machine', new Map([['b', sectionBlock('b', 'B new')]]), ['a', 'b']);
  assert.deepEqual(
    [...parseNotes(rerunB)],
    [
      ['a', '## Notes on a\n\nkept text'],
      ['b', 'notes on b'],
    ],
  );
  assert.equal(composeDoc(rerunB, 'machine', new Map(), ['a', 'b']), rerunB, 'composing twice changes nothing');
});

test('a section with no notes gets none, and text before the first section is not a note', () => {
  const old = doc('intro text', sectionBlock('a', 'A'), sectionBlock('b', 'B'));
  assert.deepEqual([...parseNotes(old)], []);
  assert.doesNotMatch(composeDoc(old, 'm', new Map(), ['a', 'b']), /intro text/);
});
