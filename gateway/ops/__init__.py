"""What the gateway leaves for its operators: ``logs``, ``metrics``, ``tracing``, one line per
request (``observe``), and the ``masking`` of identity numbers in all of them."""
