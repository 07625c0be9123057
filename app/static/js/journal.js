/* The journal grid: type into cells, move with arrows/Tab/Enter, save each cell at once. */
(function () {
  "use strict";
  var root = document.getElementById("journal");
  if (!root) { return; }
  var grid = document.getElementById("journal-grid");
  var saveUrl = root.dataset.saveUrl, lessonUrl = root.dataset.lessonUrl.replace(/0$/, "");
  var csrf = root.dataset.csrf, period = root.dataset.period;
  var lessons = {};
  JSON.parse(document.getElementById("journal-lessons").textContent).forEach(function (l) { lessons[l.id] = l; });
  var cells = JSON.parse(document.getElementById("journal-cells").textContent);
  var ATTENDANCE = JSON.parse(document.getElementById("journal-attendance-keys").textContent);

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { j.status = r.status; return j; }); });
  }
  function cellAt(row, col) {
    return grid.querySelector('td.cell[data-row="' + row + '"][data-col="' + col + '"]');
  }
  function key(td) { return td.dataset.student + ":" + td.dataset.lesson; }
  function data(td) {
    var cell = cells[key(td)] || {marks: [], attendance: null};
    return {marks: cell.marks.slice(), attendance: cell.attendance};
  }
  function workType(td) { return parseInt(grid.querySelector('select.work-type[data-lesson="' + td.dataset.lesson + '"]').value, 10); }
  function render(td, cell) {
    cells[key(td)] = cell;
    var view = td.querySelector(".view");
    view.textContent = "";
    cell.marks.forEach(function (m) {
      var b = document.createElement("b"); b.className = "mark m" + m.value; b.textContent = m.value; view.appendChild(b);
    });
    if (cell.attendance) {
      var i = document.createElement("i"); i.className = "att"; i.textContent = cell.attendance.code; view.appendChild(i);
    }
  }
  function showError(td, message) {
    td.classList.add("error"); td.title = message;
    var e = td.querySelector(".cell-error") || document.createElement("span");
    e.className = "cell-error"; e.textContent = message; td.appendChild(e);
  }
  function clearError(td) {
    td.classList.remove("error"); td.title = "";
    var e = td.querySelector(".cell-error"); if (e) { e.remove(); }
  }
  function setAverage(studentId, avg) {
    var c = grid.querySelector('td.col-avg[data-avg="' + studentId + '"]');
    if (c) { c.textContent = avg === null || avg === undefined ? "" : avg.toFixed(2); }
  }

  /* Save what was typed: a mark 1–5 of the column's work type, an attendance code, or "" to clear. */
  function save(td, text, clearing) {
    var cell = data(td), wt = workType(td), raw = text.trim().toLowerCase();
    var mine = cell.marks.filter(function (m) { return m.work_type_id === wt; })[0];
    var body = {lesson_id: +td.dataset.lesson, student_id: +td.dataset.student, period_id: +period};
    if (clearing) {
      if (mine) { body.kind = "mark"; body.work_type_id = wt; body.value = null; body.version = mine.version; }
      else if (cell.attendance) { body.kind = "attendance"; body.code = null; body.version = cell.attendance.version; }
      else { return; }
    } else if (ATTENDANCE[raw]) {
      body.kind = "attendance"; body.code = ATTENDANCE[raw]; body.version = cell.attendance ? cell.attendance.version : null;
    } else {
      var n = /^-?\d+$/.test(raw) ? parseInt(raw, 10) : raw;
      body.kind = "mark"; body.work_type_id = wt; body.value = n; body.version = mine ? mine.version : null;
    }
    td.classList.add("saving");
    return post(saveUrl, body).then(function (res) {
      td.classList.remove("saving");
      if (res.status === 200) {
        clearError(td);
        if (body.kind === "mark") {
          cell.marks = cell.marks.filter(function (m) { return m.work_type_id !== wt; });
          if (res.cell) { cell.marks.push(res.cell); }
        } else { cell.attendance = res.cell; }
        render(td, cell);
        if ("average" in res) { setAverage(td.dataset.student, res.average); }
      } else if (res.status === 409) {
        if (body.kind === "mark") {
          cell.marks = cell.marks.filter(function (m) { return m.work_type_id !== wt; });
          if (res.current) { cell.marks.push(res.current); }
        } else { cell.attendance = res.current; }
        render(td, cell); showError(td, res.error);
      } else {
        showError(td, res.error || "Ошибка сохранения");
      }
    }).catch(function () { td.classList.remove("saving"); showError(td, "Нет связи с сервером"); });
  }

  function move(td, dRow, dCol) {
    var next = cellAt(+td.dataset.row + dRow, +td.dataset.col + dCol);
    if (next) { next.focus(); }
  }
  function readOnly(td) {
    var th = grid.querySelector('th[data-lesson="' + td.dataset.lesson + '"]');
    if (th && th.dataset.editable === "1") { return false; }
    showError(td, root.dataset.readonly);
    return true;
  }
  function startEdit(td, initial) {
    if (td.querySelector("input") || readOnly(td)) { return; }
    var input = document.createElement("input");
    input.type = "text"; input.className = "cell-input"; input.value = initial || ""; input.maxLength = 4;
    td.appendChild(input); input.focus();
    var done = false;
    function finish(commit, dRow, dCol) {
      if (done) { return; } done = true;
      var text = input.value; input.remove();
      if (commit && text.trim() !== "") { save(td, text, false); }
      if (dRow || dCol) { move(td, dRow, dCol); } else { td.focus(); }
    }
    input.addEventListener("keydown", function (e) {
      var k = e.key;
      if (k === "Enter") { e.preventDefault(); finish(true, 1, 0); }
      else if (k === "Tab") { e.preventDefault(); finish(true, 0, e.shiftKey ? -1 : 1); }
      else if (k === "ArrowRight") { e.preventDefault(); finish(true, 0, 1); }
      else if (k === "ArrowLeft") { e.preventDefault(); finish(true, 0, -1); }
      else if (k === "ArrowDown") { e.preventDefault(); finish(true, 1, 0); }
      else if (k === "ArrowUp") { e.preventDefault(); finish(true, -1, 0); }
      else if (k === "Escape") { e.preventDefault(); finish(false, 0, 0); }
      e.stopPropagation();
    });
    input.addEventListener("blur", function () { finish(true, 0, 0); });
  }

  grid.addEventListener("keydown", function (e) {
    var td = e.target.closest("td.cell");
    if (!td || e.target !== td) { return; }
    var k = e.key;
    if (k === "ArrowRight") { e.preventDefault(); move(td, 0, 1); }
    else if (k === "ArrowLeft") { e.preventDefault(); move(td, 0, -1); }
    else if (k === "ArrowDown" || k === "Enter") { e.preventDefault(); move(td, 1, 0); }
    else if (k === "ArrowUp") { e.preventDefault(); move(td, -1, 0); }
    else if (k === "Tab") { e.preventDefault(); move(td, 0, e.shiftKey ? -1 : 1); }
    else if (k === "Delete" || k === "Backspace") { e.preventDefault(); if (!readOnly(td)) { save(td, "", true); } }
    else if (k.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); startEdit(td, k); }
  });
  grid.addEventListener("dblclick", function (e) {
    var td = e.target.closest("td.cell"); if (td) { startEdit(td, ""); }
  });

  /* The lesson editor opened from a column header. */
  var editor = document.getElementById("lesson-editor"), current = null;
  function field(name) { return editor.querySelector('[name="' + name + '"]'); }
  grid.addEventListener("click", function (e) {
    var a = e.target.closest("a.lesson-date");
    if (!a) { return; }
    e.preventDefault();
    current = lessons[a.dataset.lesson];
    document.getElementById("lesson-editor-date").textContent = current.date.split("-").reverse().join(".");
    field("topic").value = current.topic; field("type").value = current.type;
    field("status").value = current.status === "held" ? "held" : "planned";
    field("homework").value = current.homework; field("homework_due").value = current.homework_due || "";
    editor.querySelector(".lesson-editor-error").textContent = "";
    editor.hidden = false; field("topic").focus();
  });
  document.getElementById("lesson-close").addEventListener("click", function () { editor.hidden = true; });
  document.getElementById("lesson-save").addEventListener("click", function () {
    var body = {topic: field("topic").value, type: field("type").value, status: field("status").value,
                homework: field("homework").value, homework_due: field("homework_due").value};
    post(lessonUrl + current.id, body).then(function (res) {
      if (res.status === 200) {
        Object.assign(current, body); editor.hidden = true;
        grid.querySelector('th[data-lesson="' + current.id + '"]').title = body.topic;
      } else { editor.querySelector(".lesson-editor-error").textContent = res.error || "Ошибка"; }
    });
  });
})();
