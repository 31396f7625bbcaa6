-- Reviews without their text and reviewer details (e-mail and name are PII); the review is an
-- identity record of source `reviews`.
select
    review_id,
    'reviews' as identity_source,
    pseudonymise(review_id) as identity_record_hash,
    product_id,
    rating,
    (rating - 1) / 4.0 as sentiment,
    order_id,
    event_time as submitted_at
from {{ source('silver', 'reviews') }}
