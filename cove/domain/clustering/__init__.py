"""Pure rules of the clustering service (Senlin's API over containers): action names and
inputs, statuses, size checks, profile and policy specs."""
