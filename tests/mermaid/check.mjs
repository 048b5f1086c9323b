// Parses Mermaid diagrams with the real mermaid parser (jsdom stands in for the browser DOM that
// mermaid's sanitiser needs) and prints one tab-separated line per file:
//   ok <file> <diagram type> <state id>=<label>|<label> ...   (the states the parser recorded)
//   error <file> <message, newlines as \n>
// Used by tests/tests/mermaid.rs; install with `npm ci` in this directory (.ci/run does).
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const states = [...diagram.db.getStates()].map(
      ([id, state]) => `${id}=${(state.descriptions ?? []).join('|')}`,
    );
    console.log(['ok', file, diagram.type, ...states].join('\t'));
  } catch (error) {
    const message = String(error?.message ?? error).replaceAll('\n', '\\n');
    console.log(['error', file, message].join('\t'));
  }
}
