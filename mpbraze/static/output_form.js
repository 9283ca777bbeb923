// The output form: a pasted dashboard URL or endpoint selects the matching Braze instance (a
// helper only: choosing another instance afterwards is said, and the server refuses the
// disagreement rather than overriding the choice); the custom endpoints show with Custom;
// fields show only for the platforms they act for.
(function () {
  "use strict";
  var catalog = JSON.parse(document.getElementById("instance-catalog").textContent);
  var finder = document.getElementById("id_instance_finder");
  var instance = document.getElementById("id_braze_instance");
  var platform = document.getElementById("id_platform");
  var result = document.getElementById("finder-result");
  var custom = document.getElementById("custom-endpoints");

  function hostOf(text) {
    var value = text.trim().toLowerCase().replace(/^[a-z]+:\/\//, "");
    return value.split(/[/?#:]/)[0];
  }

  function find(text) {
    var host = hostOf(text);
    for (var code in catalog) {
      if (catalog[code].indexOf(host) !== -1) { return code; }
    }
    return null;
  }

  function labelOf(code) {
    var option = instance.querySelector('option[value="' + code + '"]');
    return option ? option.text : code;
  }

  // The catalog lists the REST and SDK hosts first, then the dashboard hosts.
  function whatWasPasted(code) {
    return catalog[code].indexOf(hostOf(finder.value)) > 1 ? "dashboard URL" : "endpoint";
  }

  function sayAgreement() {
    var code = find(finder.value);
    if (!finder.value.trim()) {
      result.textContent = "";
    } else if (!code) {
      result.textContent = "No Braze instance matches that address; choose Custom for other endpoints.";
    } else if (code === instance.value) {
      result.textContent = "Selected " + labelOf(code) + ".";
    } else {
      result.textContent = "The " + whatWasPasted(code) + " you pasted is on " + labelOf(code) +
        ", but " + labelOf(instance.value) + " is selected.";
    }
  }

  function showCustom() {
    custom.hidden = instance.value !== "custom";
  }

  // Rendered for the page's platform by the server; followed here when the choice changes.
  function showForPlatform() {
    var parts = document.querySelectorAll("#output-form [data-platforms]");
    Array.prototype.forEach.call(parts, function (part) {
      part.hidden = part.getAttribute("data-platforms").split(" ").indexOf(platform.value) === -1;
    });
  }

  finder.addEventListener("input", function () {
    var code = find(finder.value);
    if (code) { instance.value = code; }
    sayAgreement();
    showCustom();
  });
  instance.addEventListener("change", function () {
    if (finder.value.trim()) { sayAgreement(); }
    showCustom();
  });
  platform.addEventListener("change", showForPlatform);
  var hasCustomValues = Array.prototype.some.call(
    custom.querySelectorAll("input"), function (i) { return i.value; });
  if (!hasCustomValues) { showCustom(); }
})();
