/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
{%- for line in preamble %}
{{ line }}
{%- endfor %}

#ifndef {{ guard }}
#define {{ guard }}
{%- for e in enums %}

/* {{ e.title }} */
enum {{ e.tag }} {
{%- for entry in e.entries %}
{%- for c in entry.comments %}
	{{ c }}
{%- endfor %}
{%- if let Some(name) = entry.name %}
	{{ name }} = {{ entry.value }},
{%- endif %}
{%- endfor %}
	{{ e.size_name }} = {{ e.size }}
};
{%- endfor %}
{%- if !defines.is_empty() %}
{% for (comment, name, value) in defines %}
{%- for line in comment %}
{{ line }}
{%- endfor %}
#define {{ name }} {{ value }}
{%- endfor %}
{%- endif %}

#endif /* {{ guard }} */
