// Small enhancements of the console's pages. Every page works without
// them: times stay in UTC, copy buttons leave the text selectable, and
// forms are sent without a confirmation.
'use strict';

(() => {
  // Times: the server renders UTC; show them in the viewer's time zone,
  // with the UTC value kept on hover (the title).
  const full = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });
  const day = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  function localTimes() {
    for (const el of document.querySelectorAll('time[datetime]')) {
      const d = new Date(el.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      el.textContent = (el.hasAttribute('data-date') ? day : full).format(d);
    }
  }

  // Copy buttons: data-copy names the input whose value they copy.
  function copyButtons() {
    for (const b of document.querySelectorAll('button[data-copy]')) {
      b.addEventListener('click', async () => {
        const input = document.getElementById(b.dataset.copy);
        input.select();
        const label = b.textContent;
        try {
          await navigator.clipboard.writeText(input.value);
          b.textContent = 'Copied';
        } catch (e) {
          b.textContent = 'Press Ctrl+C to copy';
        }
        setTimeout(() => { b.textContent = label; }, 2000);
      });
    }
  }

  // Buttons with data-confirm ask before their form is sent.
  function confirmations() {
    for (const b of document.querySelectorAll('button[data-confirm]')) {
      b.form.addEventListener('submit', (e) => {
        if (e.submitter === b && !window.confirm(b.dataset.confirm)) e.preventDefault();
      });
    }
  }

  // The custom date fields show only with the custom range.
  function dateRange() {
    const sel = document.querySelector('select[data-custom]');
    if (!sel) return;
    const box = document.getElementById(sel.dataset.custom);
    const update = () => { box.hidden = sel.value !== 'custom'; };
    sel.addEventListener('change', update);
    update();
  }

  document.addEventListener('DOMContentLoaded', () => {
    localTimes();
    copyButtons();
    confirmations();
    dateRange();
  });
})();
