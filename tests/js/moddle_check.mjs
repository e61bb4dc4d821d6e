// Usage: node tests/js/moddle_check.mjs FILE.bpmn...
// Imports each diagram as bpmn-js will in the browser, with the spiffworkflow descriptor so that a
// misspelt extension element or attribute is an import warning rather than silently kept as generic XML.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';

const descriptorUrl = new URL('../../processes/spiffworkflow.moddle.json', import.meta.url);
const spiffworkflow = JSON.parse(readFileSync(descriptorUrl, 'utf8'));
const files = process.argv.slice(2);

if (files.length === 0) {
  console.error('usage: node tests/js/moddle_check.mjs FILE.bpmn...');
  process.exit(2);
}

const moddle = new BpmnModdle({ spiffworkflow });
let failed = false;
for (const file of files) {
  try {
    const { warnings } = await moddle.fromXML(readFileSync(file, 'utf8'), 'bpmn:Definitions');
    for (const warning of warnings) {
      console.log(`${file}: warning: ${warning.message.split('\n')[0]}`);
    }
    failed ||= warnings.length > 0;
  } catch (err) {
    console.log(`${file}: error: ${err.message.split('\n')[0]}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
