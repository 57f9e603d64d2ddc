// Keeps the text being written on the server every few seconds, so that an expired session,
// a crash or a failed submit never loses it. The page works without this script: a failed
// submit also saves the draft on the server side.
(function () {
  "use strict";
  var DELAY_MS = 3000;
  document.querySelectorAll("form[data-draft-url]").forEach(function (form) {
    var timer = null;
    var status = form.querySelector(".draft-status");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    function save() {
      timer = null;
      var data = new FormData();
      data.append("key", form.dataset.draftKey);
      // The tokens carry the pending quotes (redacted) and figures (ids), kept with the draft.
      ["title", "subtitle", "body", "quotes_token", "figures_token"].forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field) { data.append(name, field.value); }
      });
      fetch(form.dataset.draftUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"X-CSRFToken": csrf ? csrf.value : ""}
      }).then(function (response) {
        if (status) {
          status.hidden = false;
          status.textContent = response.ok ? status.dataset.saved || "✓" : status.dataset.failed || "!";
        }
      }).catch(function () { /* offline: the next change tries again */ });
    }
    form.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, DELAY_MS);
    });
  });
})();
