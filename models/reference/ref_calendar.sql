{#- Bounds come from vars, never from the build date, so the calendar is the same whenever and
    wherever it is built. -#}
with

days as (
    {{ day_spine(
        strata_checked_date(var('calendar_start'), 'calendar_start'),
        strata_checked_date(var('calendar_end'), 'calendar_end'),
    ) }}
),

final as (
    select
        date_day as calendar_date,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start_date,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as calendar_month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week,
        cast(extract(week from date_day) as integer) as iso_week,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from days
)

select * from final
