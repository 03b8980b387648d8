"""The step forms' fields as Bootstrap 5 markup, written in Python.

The step form is the page staf open most, on a phone in the field, and its forms were the
costliest part of it: through crispy-forms and Django's widget templates each field is a dozen
template renderings (about 6 ms for the approval's two forms, against 0.5 ms here). This module
writes the same markup crispy-bootstrap5 writes for the widgets the step forms use (inputs,
textareas, selects, checkbox and radio lists), from Django's own widget context: the widget
still decides its attributes, value, choices and ids, and `BoundField.build_widget_attrs` adds
`required`, `aria-describedby` and `aria-invalid` as for any Django form. Other forms of the
app keep crispy-forms.

A form lays its fields out with `layout`: field names, and tuples of names shown side by side
(a row of columns on a wide screen).
"""

from django import forms
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# The Bootstrap class of a widget's control, by how it is drawn.
CHOICE_LISTS = (forms.CheckboxSelectMultiple, forms.RadioSelect)
SELECTS = (forms.Select, forms.SelectMultiple)


def _attrs(attrs) -> str:
    """` name="value"` for each attribute; True writes the bare name, False and None nothing
    (Django's attrs.html)."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        elif value is not False and value is not None:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(parts)


def _with_class(attrs, css):
    classes = f"{attrs['class']} {css}" if attrs.get("class") else css
    return {**attrs, "class": classes}


def _options(groups) -> str:
    parts = []
    for group_name, options, _index in groups:
        if group_name:
            parts.append(format_html('<optgroup label="{}">', group_name))
        for option in options:
            parts.append(
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(option["value"]),
                    mark_safe(_attrs(option["attrs"])),
                    option["label"],
                )
            )
        if group_name:
            parts.append("</optgroup>")
    return "".join(parts)


def _choice_list(widget, invalid) -> str:
    """A checkbox or radio per choice, each with its own label (crispy-bootstrap5's markup)."""
    input_class = "form-check-input is-invalid" if invalid else "form-check-input"
    parts = []
    for _group, options, _index in widget["optgroups"]:
        for option in options:
            attrs = _with_class(option["attrs"], input_class)
            parts.append(
                format_html(
                    '<div class="form-check"><input type="{}" name="{}" value="{}"{}>'
                    ' <label for="{}" class="form-check-label">{}</label></div>',
                    option["type"],
                    option["name"],
                    str(option["value"]),
                    mark_safe(_attrs(attrs)),
                    option["attrs"].get("id", ""),
                    option["label"],
                )
            )
    return "".join(parts)


def _control(bound, widget, invalid) -> str:
    """The control of a widget that is not a choice list: input, textarea or select."""
    kind = bound.field.widget
    css = "form-select" if isinstance(kind, SELECTS) else "form-control"
    attrs = _with_class(widget["attrs"], f"{css} is-invalid" if invalid else css)
    if isinstance(kind, forms.Textarea):
        value = widget["value"] or ""
        return format_html(
            '<textarea name="{}"{}>\n{}</textarea>', widget["name"], mark_safe(_attrs(attrs)), value
        )
    if isinstance(kind, SELECTS):
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            mark_safe(_attrs(attrs)),
            mark_safe(_options(widget["optgroups"])),
        )
    return _input(widget, attrs)


def _input(widget, attrs) -> str:
    """`<input>` of an input widget's context, with `attrs` (Django's input.html)."""
    value = "" if widget["value"] is None else format_html(' value="{}"', str(widget["value"]))
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        widget["type"],
        widget["name"],
        value,
        mark_safe(_attrs(attrs)),
    )


def _widget_context(bound):
    """Django's context of the field's widget, with the attributes its BoundField adds."""
    widget = bound.field.widget
    attrs = bound.build_widget_attrs({}, widget)
    if bound.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", bound.auto_id)
    return widget.get_context(bound.html_name, bound.value(), attrs)["widget"]


def _help_and_errors(bound, block_errors):
    parts = []
    css = "invalid-feedback d-block" if block_errors else "invalid-feedback"
    for number, error in enumerate(bound.errors, start=1):
        parts.append(
            format_html(
                '<div id="error_{}_{}" class="{}"><strong>{}</strong></div>',
                number,
                bound.auto_id,
                css,
                error,
            )
        )
    if bound.help_text:
        parts.append(
            format_html(
                '<div id="{}_helptext" class="form-text">{}</div>', bound.auto_id, bound.help_text
            )
        )
    return mark_safe("".join(parts))


def field(bound) -> SafeString:
    """One field: its label, control, errors and help text, or a hidden input."""
    widget = _widget_context(bound)
    if bound.is_hidden:
        return _input(widget, widget["attrs"])
    invalid = bool(bound.errors)
    required = bound.field.required
    marker = mark_safe('<span class="asteriskField">*</span>') if required else ""
    if isinstance(bound.field.widget, CHOICE_LISTS):
        return format_html(
            '<fieldset id="div_{}" class="mb-3"><legend class="form-label fs-6{}">{}{}</legend>'
            "{}{}</fieldset>",
            bound.auto_id,
            " requiredField" if required else "",
            bound.label,
            marker,
            mark_safe(_choice_list(widget, invalid)),
            _help_and_errors(bound, block_errors=True),
        )
    return format_html(
        '<div id="div_{}" class="mb-3"><label for="{}" class="form-label{}">{}{}</label>{}{}</div>',
        bound.auto_id,
        widget["attrs"].get("id", ""),
        " requiredField" if required else "",
        bound.label,
        marker,
        mark_safe(_control(bound, widget, invalid)),
        _help_and_errors(bound, block_errors=False),
    )


def form_fields(form) -> SafeString:
    """The form's errors that belong to no field, then its fields as `form.layout` places
    them; a field the layout does not name is not shown."""
    parts = []
    errors = form.non_field_errors()
    if errors:
        parts.append(
            format_html(
                '<div class="alert alert-block alert-danger"><ul class="mb-0">{}</ul></div>',
                format_html_join("", "<li>{}</li>", ((error,) for error in errors)),
            )
        )
    for item in form.layout:
        if isinstance(item, tuple):
            columns = format_html_join(
                "", '<div class="col-md">{}</div>', ((field(form[name]),) for name in item)
            )
            parts.append(format_html('<div class="row">{}</div>', columns))
        else:
            parts.append(field(form[item]))
    return mark_safe("".join(parts))
