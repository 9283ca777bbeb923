// Copy buttons: <button class="copy" data-copy="ID"> copies the text of the element #ID.
// A file of its own (no inline script), so a Content-Security-Policy can forbid inline code.
// It only writes to the clipboard: nothing copied leaves the page.
(function () {
  "use strict";

  function copyBySelection(element) {
    // Plain-http deployments have no navigator.clipboard: select and copy instead.
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = document.execCommand("copy");
    selection.removeAllRanges();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(element) {
    var text = element.innerText;
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyBySelection(element); });
    }
    return copyBySelection(element);
  }

  function announce(button, label) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = label;
    window.setTimeout(function () { button.textContent = original; }, 2000);
  }

  // A button that needs this script is hidden in the page until the script runs.
  document.querySelectorAll("button.copy[data-copy][hidden]").forEach(function (button) {
    button.hidden = false;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy[data-copy]");
    if (!button) { return; }
    var target = document.getElementById(button.dataset.copy);
    if (!target) { return; }
    copy(target).then(
      function () { announce(button, "Copied"); },
      function () { announce(button, "Select and copy by hand"); }
    );
  });
}());
