// Preview: choosing a bundled example puts its JSON in the batch box, where it can be edited.
(function () {
  "use strict";
  var examples = JSON.parse(document.getElementById("preview-examples").textContent);
  var choice = document.getElementById("id_example");
  var box = document.getElementById("id_batch");

  choice.addEventListener("change", function () {
    if (examples[choice.value] !== undefined) { box.value = examples[choice.value]; }
  });
})();
