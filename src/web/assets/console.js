// The console works without this file; it only saves clicks.
document.addEventListener('change', (event) => {
  const el = event.target;
  if (el.matches('[data-select-all]')) {
    for (const box of el.closest('table').querySelectorAll('tbody input[type=checkbox]')) box.checked = el.checked;
  }
  if (el.matches('[data-autosubmit]')) el.form.submit();
});
