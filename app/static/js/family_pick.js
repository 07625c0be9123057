// The consent and contact forms' pickers: the student is searched by surname on the server (select2 with
// AJAX), and the representative's options are reloaded from the chosen student's only. Both start empty.
(function ($) {
  "use strict";
  var russian = {
    inputTooShort: function () { return "Введите первые буквы фамилии"; },
    noResults: function () { return "Никого не найдено"; },
    searching: function () { return "Поиск…"; },
    errorLoading: function () { return "Не удалось загрузить список"; }
  };

  function reloadDependent($dependent, studentId) {
    $dependent.find("option").not("[value='']").remove();
    $dependent.val("").trigger("change");
    if (!studentId) { return; }
    $.getJSON($dependent.data("source"), {student_id: studentId}, function (answer) {
      answer.results.forEach(function (row) { $dependent.append(new Option(row.text, row.id, false, false)); });
      $dependent.val("").trigger("change");
    });
  }

  $(function () {
    $("select.family-pick").each(function () {
      var $select = $(this), depends = $select.data("depends");
      var options = {placeholder: $select.data("placeholder"), allowClear: true, width: "100%", language: russian};
      if (!depends) {
        options.minimumInputLength = 1;
        options.ajax = {url: $select.data("source"), dataType: "json", delay: 200,
                        data: function (params) { return {q: params.term}; }};
      }
      $select.select2(options);
      if (depends) {
        var $master = $("select.family-pick[name='" + depends + "']");
        $master.on("change", function () { reloadDependent($select, $master.val()); });
        if ($master.val() && $select.find("option").length <= 1) { reloadDependent($select, $master.val()); }
      }
    });
  });
})(jQuery);
