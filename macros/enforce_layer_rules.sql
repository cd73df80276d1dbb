{#-
  The layer contract (var layer_rules in dbt_project.yml), checked at the start of every
  run/build so a violation fails the build:
    raw       reads only sources (it is the only layer that may call source())
    conformed reads raw, conformed and reference
    reference reads conformed and reference (seeds are reference data)
    modeled   reads conformed, reference and modeled: never raw, so unconformed rows cannot
              reach a data product
-#}
{% macro strata_allowed_upstream_layers() -%}
    {{- return(var('layer_rules')) -}}
{%- endmacro %}

{% macro strata_layer_of(node) -%}
    {%- if node.resource_type == 'seed' -%}
        {{- return('reference') -}}
    {%- elif node.resource_type == 'source' -%}
        {{- return('source') -}}
    {%- elif node.resource_type == 'model' and node.fqn | length > 2 -%}
        {{- return(node.fqn[1]) -}}
    {%- else -%}
        {{- return(node.config.meta.get('layer', 'none')) -}}
    {%- endif -%}
{%- endmacro %}

{% macro strata_layer_violations() -%}
    {%- set allowed = strata_allowed_upstream_layers() -%}
    {%- set violations = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type in ['model', 'snapshot'] and node.package_name == project_name -%}
        {%- set layer = strata_layer_of(node) -%}
        {%- if layer not in allowed -%}
            {%- do violations.append(node.name ~ ' is in no layer folder (raw, conformed, reference, modeled)') -%}
        {%- else -%}
            {%- for upstream_id in node.depends_on.nodes -%}
                {%- set upstream = graph.sources[upstream_id] if upstream_id.startswith('source.') else graph.nodes[upstream_id] -%}
                {%- set upstream_layer = strata_layer_of(upstream) -%}
                {%- if upstream_layer not in allowed[layer] -%}
                    {%- do violations.append(layer ~ ' model ' ~ node.name ~ ' reads ' ~ upstream_layer ~ ' ' ~ upstream.name ~ '; ' ~ layer ~ ' may read only ' ~ allowed[layer] | join(', ')) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(violations) -}}
{%- endmacro %}

{% macro enforce_layer_rules() -%}
    {%- if execute -%}
        {%- set violations = strata_layer_violations() -%}
        {%- if violations -%}
            {{- exceptions.raise_compiler_error("Layer rule violated:\n  " ~ violations | join("\n  ")) -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
