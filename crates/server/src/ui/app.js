// xpufleet's web UI: the pages work without this script. It only records script errors and
// blocked loads on the page itself (data-errors on <html>), so that a person and the browser
// tests both see them.
(function () {
  var errs = [];
  function rec(m) {
    errs.push(String(m));
    document.documentElement.setAttribute('data-errors', String(errs.length));
    document.documentElement.setAttribute('data-error-text', errs.join('\n'));
  }
  window.addEventListener('error', function (e) {
    rec('error: ' + (e.message || (e.target && e.target.outerHTML) || 'unknown'));
  }, true);
  window.addEventListener('unhandledrejection', function (e) { rec('unhandled rejection: ' + e.reason); });
  document.addEventListener('securitypolicyviolation', function (e) {
    rec('blocked: ' + e.violatedDirective + ' ' + e.blockedURI);
  });
  window.addEventListener('load', function () {
    var h = document.documentElement;
    if (!h.hasAttribute('data-errors')) h.setAttribute('data-errors', '0');
  });
})();
