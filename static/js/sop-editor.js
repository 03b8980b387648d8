// The SOP editor's step table: rows ticked "Hapus" drop out of the numbering at once, and return
// targets follow the step they point at. The server settles the numbers again when it saves, so
// the page works without this file.
(function () {
  var table = document.getElementById("step-table");
  if (!table) {
    return;
  }
  function field(row, name) {
    return row.querySelector("[name$='-" + name + "']");
  }
  function deleted(row) {
    var box = field(row, "DELETE");
    return box !== null && box.checked;
  }
  function renumber() {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-row]"));
    var byNumber = {};
    rows.forEach(function (row) {
      var number = field(row, "number");
      var shown = deleted(row) ? row.dataset.number : number && number.value.trim();
      if (shown && !(shown in byNumber && !deleted(byNumber[shown]))) {
        byNumber[shown] = row;
      }
    });
    rows.forEach(function (row) {
      var back = field(row, "return_number");
      if (back && back.value.trim() in byNumber) {
        back.target = byNumber[back.value.trim()];
      }
    });
    var position = 0;
    rows.forEach(function (row) {
      var number = field(row, "number");
      row.classList.toggle("is-deleted-row", deleted(row));
      if (!number) {
        return;
      }
      if (deleted(row)) {
        number.value = "";
        return;
      }
      position += 1;
      number.value = String(position);
      row.dataset.number = String(position);
    });
    rows.forEach(function (row) {
      var back = field(row, "return_number");
      if (back && back.target) {
        back.value = deleted(back.target) ? "" : back.target.dataset.number;
      }
    });
  }
  table.querySelectorAll("tbody tr[data-row]").forEach(function (row) {
    var number = field(row, "number");
    row.dataset.number = number ? number.value.trim() : "";
  });
  // A row may be ticked before this file arrives (a slow network) or come back ticked when the
  // browser restores the form: the numbering starts from the boxes as they stand.
  if (table.querySelector("[name$='-DELETE']:checked")) {
    renumber();
  }
  // Capturing, so the numbers are right before the live preview reads the form.
  document.addEventListener(
    "change",
    function (event) {
      if (table.contains(event.target) && event.target.matches("[name$='-DELETE']")) {
        renumber();
      }
    },
    true
  );
  table.addEventListener("input", function (event) {
    if (event.target.matches("[name$='-return_number']")) {
      event.target.target = null;
    }
    if (event.target.matches("[name$='-number']")) {
      event.target.closest("tr").dataset.number = event.target.value.trim();
    }
  });
})();
