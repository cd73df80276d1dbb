{#- One row per day in [start_date, end_date), from cross-joined digits so it runs on any
    warehouse without generate_series. Covers up to 100,000 days. -#}
{% macro day_spine(start_date, end_date) -%}
with

digits as (
    select 0 as digit union all select 1 union all select 2 union all select 3
    union all select 4 union all select 5 union all select 6 union all select 7
    union all select 8 union all select 9
),

day_offsets as (
    select
        ones.digit
        + tens.digit * 10
        + hundreds.digit * 100
        + thousands.digit * 1000
        + ten_thousands.digit * 10000 as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

days as (
    select cast({{ dbt.dateadd('day', 'day_offset', "cast('" ~ start_date ~ "' as date)") }} as date) as date_day
    from day_offsets
)

select date_day
from days
where date_day < cast('{{ end_date }}' as date)
{%- endmacro %}
