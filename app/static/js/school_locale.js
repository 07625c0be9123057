/* The date picker in the page's language, weeks from Monday (bootstrap-datepicker; FAB's ab.js applies
   the defaults when the page is ready). */
(function ($) {
  if (!$ || !$.fn.datepicker) { return; }
  $.fn.datepicker.dates.ru = {
    days: ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"],
    daysShort: ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    daysMin: ["Вс", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб"],
    months: ["Январь", "Февраль", "Март", "Апрель", "Май", "Июнь", "Июль", "Август", "Сентябрь", "Октябрь",
             "Ноябрь", "Декабрь"],
    monthsShort: ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
    today: "Сегодня", clear: "Очистить", weekStart: 1, monthsTitle: "Месяцы"
  };
  $.fn.datepicker.defaults.weekStart = 1;
  $.fn.datepicker.defaults.autoclose = true;
  if ((document.documentElement.lang || "ru").indexOf("ru") === 0) {
    $.fn.datepicker.defaults.language = "ru";
  }
  // FAB's ab.js sets its date fields to yyyy-mm-dd when the page is ready; this runs after it and sets
  // them to the school's дд.мм.гггг (the form fields read both, see app/views/base.py).
  $(function () {
    $(".appbuilder_date").each(function () {
      $(this).datepicker("destroy").datepicker({format: "dd.mm.yyyy"});
    });
  });
})(window.jQuery);
