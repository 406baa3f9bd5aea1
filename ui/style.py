"""The page's style sheets and its one script: layout CSS for editing and presenting, the
selected card's highlight, and the keyboard (undo / redo, arrows, Delete)."""

PRESENT_CSS = """<style>
html{font-size:22px}
[data-testid='stSidebar'],[data-testid='stHeader']{display:none}
[data-testid='stMetricValue']{font-size:1.9rem}
[data-testid='stTable'] td,[data-testid='stTable'] th{font-size:1rem}
</style>"""
PAGE_CSS = """<style>
div.block-container{padding:1rem 1.5rem 1rem 1.5rem;max-width:none}
[data-testid='stMetricValue']{font-size:1.45rem}
[data-testid='stMetric'] label p{white-space:nowrap}
[data-testid='stTable'] td,[data-testid='stTable'] th{padding:0.18rem 0.5rem;white-space:nowrap}
[data-testid='stTable'] th *{white-space:nowrap}
[class*='st-key-layer_card_']{padding:0.2rem 0.6rem;gap:0.4rem}
.st-key-stack [class*='st-key-head-']:not([class*='st-key-layer_card_'] *)
{border:1px solid rgba(128,128,128,0.3);border-radius:0.5rem;padding:0.2rem 0.6rem}
.st-key-stack{gap:0.5rem}
[data-testid='stLayoutWrapper']:has(> .st-key-stack)
{flex:0 0 clamp(240px,calc(100vh - 512px),640px);height:clamp(240px,calc(100vh - 512px),640px)}
[data-testid='stLayoutWrapper']:has(> .st-key-table_box)
{flex:0 0 clamp(200px,calc(100vh - 550px),602px);height:clamp(200px,calc(100vh - 550px),602px)}
[class*='st-key-head-'] button,[class*='st-key-head-'] button > div
{justify-content:flex-start;min-height:2rem;width:100%}
[class*='st-key-head-'] [data-testid='stTooltipHoverTarget']{justify-content:flex-start !important}
.st-key-workbench > div:has(> .st-key-stack_pane){flex:1 1 330px;min-width:300px}
.st-key-workbench > div:has(> .st-key-table_pane){flex:1.3 1 max-content;min-width:0}
.st-key-compare_pair > div{flex:1 1 max-content;min-width:0}
.st-key-header h4{padding:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.st-key-header{flex-wrap:nowrap}
.st-key-header > div:first-child{min-width:0;flex:1 1 auto}
[class*='st-key-palette-'] [data-testid='stButtonGroup'],
[class*='st-key-tpl-'] [data-testid='stButtonGroup']
{display:flex;flex-direction:row;align-items:center;gap:0.5rem}
[class*='st-key-palette-'] [data-testid='stWidgetLabel'],
[class*='st-key-tpl-'] [data-testid='stWidgetLabel']{flex:0 0 110px;margin:0}
.st-key-keyboard,.st-key-scroll{display:none}
.st-key-import_code textarea{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;
font-size:0.9rem}
.nb-copy-link{font:inherit;font-size:0.95rem;line-height:1.6;padding:0.25rem 0.75rem;
min-height:2.5rem;border-radius:0.5rem;border:1px solid rgba(128,128,128,0.45);
background:transparent;color:inherit;cursor:pointer;white-space:nowrap}
.nb-copy-link:hover{border-color:currentColor}
</style>"""
SELECTED_CSS = (
    "<style>/*nb-selected*/.st-key-layer_card_{uid},"
    ".st-key-stack .st-key-head-{uid}:not([class*='st-key-layer_card_'] *)"
    "{{border-color:#F58518;border-width:2px}}</style>"
)
KEYBOARD_JS = """<script>
(() => {
  // Ctrl/Cmd+Z undoes and Shift+Ctrl/Cmd+Z (or Ctrl+Y) redoes the last design edit. A field
  // being typed in is blurred first, which commits its value as an edit of its own; the app's
  // Undo / Redo button is pressed once that rerun has finished. Code boxes keep their own undo.
  if (window.__netbuilderKeys) return;
  window.__netbuilderKeys = true;
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app ? app.getAttribute('data-test-script-state') : 'notRunning';
  };
  async function settled(wait) {  // a blurred field that changed starts a rerun: wait it out
    for (let t = 0; t < wait && state() === 'notRunning'; t += 20) await pause(20);
    for (let t = 0; t < 10000 && state() !== 'notRunning'; t += 25) await pause(25);
  }
  function dirty(field) {  // a number box says "Press Enter to apply" while its value is new
    const box = field.closest('[data-testid="stNumberInput"]');
    const notes = box ? box.querySelectorAll('[data-testid="InputInstructions"]') : [];
    return [...notes].some((note) => /enter/i.test(note.textContent));
  }
  // With no field focused (the page, or a button of the stack) and a layer selected: arrow
  // up / down select the layer above / below and Delete (or Backspace) deletes it, each by
  // pressing one of the app's hidden keyboard buttons.
  const STEP = {
    arrowup: 'kb_up', arrowdown: 'kb_down', delete: 'kb_delete', backspace: 'kb_delete'};
  function free(field) {
    if (!field || field === document.body) return true;
    return field.tagName === 'BUTTON' && !!field.closest('.st-key-workbench')
      && !field.closest('[data-testid="stPopoverBody"]');
  }
  const selected = () => [...document.querySelectorAll('style')].some(
    (s) => s.textContent.includes('/*nb-selected*/'));
  document.addEventListener('keydown', (event) => {
    const name = STEP[(event.key || '').toLowerCase()];
    if (!name || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    if (!free(document.activeElement) || (name === 'kb_delete' && !selected())) return;
    const button = document.querySelector('.st-key-' + name + ' button');
    if (!button) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    button.click();
  }, true);
  document.addEventListener('keydown', async (event) => {
    const key = (event.key || '').toLowerCase();
    if (!(event.ctrlKey || event.metaKey) || event.altKey || (key !== 'z' && key !== 'y')) return;
    const field = document.activeElement;
    if (field && field.tagName === 'TEXTAREA') return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const which = event.shiftKey || key === 'y' ? 'redo' : 'undo';
    if (field && field.tagName === 'INPUT') {
      const changed = dirty(field);
      field.blur();
      await settled(changed ? 5000 : 600);  // a text box does not say: give it 0.6 s to start
    }
    const onScreen = () => [...document.querySelectorAll('.st-key-' + which + ' button')].find(
      (b) => b.offsetParent !== null && !b.disabled);
    let button = onScreen();
    for (let t = 0; !button && field && field.tagName === 'INPUT' && t < 5000; t += 25) {
      await pause(25);  // the edit just committed enables Undo as its run's page is drawn
      button = onScreen();
    }
    if (button) button.click();
  }, true);
})();
</script>"""
