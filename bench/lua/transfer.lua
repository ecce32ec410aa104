-- POST /api/inventory/transfer: one stock line of a random batch (0.01-0.99 kg) between two of the three
-- seeded locations (ids 1-3), chosen at random. Args: token, nthreads. pgbench's transfer script draws the
-- same way. Batch j belongs to article ((j - 1) mod 2000) + 1 (bench/seed.py).
function init(args)
   common_init(args)
   headers = auth_headers(true)
end

function transfer_body()
   local b = math.random(1, 5000)
   local from = math.random(1, 3)
   local to = (from + math.random(0, 1)) % 3 + 1
   return string.format(
      '{"from_location_id": %d, "to_location_id": %d, "lines": [{"article_id": %d, "batch_id": %d, "quantity_kg": "0.%02d"}]}',
      from, to, (b - 1) % 2000 + 1, b, math.random(1, 99))
end

function request()
   return stamped("POST", "/api/inventory/transfer", headers, transfer_body())
end
