// The extracts form: students and classes are searchable (select2 filters as you type), and choosing one
// sets the period to that class's current period of its own scheme (data-period on each option).
(function ($) {
  "use strict";
  $(function () {
    $("select.extract-pick").each(function () {
      var $select = $(this);
      $select.select2({placeholder: $select.data("placeholder"), allowClear: true, width: "100%",
                       language: {noResults: function () { return "Никого не найдено"; }}});
      $select.on("change", function () {
        var period = $select.find("option:selected").data("period");
        if (period) { $("#period_id").val(String(period)); }
      });
    });
  });
})(jQuery);
