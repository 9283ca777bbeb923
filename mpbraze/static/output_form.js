// Instance finder: a pasted dashboard URL or endpoint selects the matching Braze instance.
(function () {
  "use strict";
  var catalog = JSON.parse(document.getElementById("instance-catalog").textContent);
  var finder = document.getElementById("id_instance_finder");
  var instance = document.getElementById("id_braze_instance");
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

  function showCustom() {
    custom.hidden = instance.value !== "custom";
  }

  finder.addEventListener("input", function () {
    if (!finder.value.trim()) { result.textContent = ""; return; }
    var code = find(finder.value);
    if (code) {
      instance.value = code;
      result.textContent = "Selected " + instance.options[instance.selectedIndex].text + ".";
    } else {
      result.textContent = "No Braze instance matches that address; choose Custom for other endpoints.";
    }
    showCustom();
  });
  instance.addEventListener("change", showCustom);
  var hasCustomValues = Array.prototype.some.call(
    custom.querySelectorAll("input"), function (i) { return i.value; });
  if (!hasCustomValues) { showCustom(); }
})();
