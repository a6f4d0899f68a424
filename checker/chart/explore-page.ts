// The explorer's column beside the chart (enabled steps, properties, path controls) and its script.
import { readFileSync } from 'node:fs';

export const EXPLORER_COLUMN = `<section id="explorer" aria-label="explorer">
<div class="toolbar"><button id="back" title="b or Backspace">back</button><button id="reset">reset</button>
<a id="save" href="/api/trace" download="explored.ndjson"><button tabindex="-1">save as trace</button></a>
<label><button id="open-btn" tabindex="0">open trace…</button><input id="open" type="file" accept=".ndjson,.json" hidden></label></div>
<div id="status" class="keys" role="status"></div>
<h2 id="enabled-title">Enabled steps</h2>
<ol id="enabled"></ol>
<h2>Properties in this state</h2>
<ul id="properties"></ul>
</section>`;

export const EXPLORER_SCRIPT = readFileSync(new URL('./explore-client.js', import.meta.url), 'utf8');
