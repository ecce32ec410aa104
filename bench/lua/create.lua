-- POST /api/draft-groups with 5 lines on random batches, unique client_event_ids. Args: token, tag, nthreads.
-- Batch j belongs to article ((j - 1) mod 2000) + 1 (bench/seed.py).
function init(args)
   common_init(args)
   tag = args[2]
   headers = auth_headers(true)
   made = 0
end

function create_body()
   made = made + 1
   local lines = {}
   for n = 0, 4 do
      local b = math.random(1, 5000)
      lines[#lines + 1] = string.format(
         '{"article_id": %d, "batch_id": %d, "quantity_kg": %d.%02d, "client_event_id": "w%s-%d-%d-%d"}',
         (b - 1) % 2000 + 1, b, math.random(0, 4), math.random(50, 99), tag, tid(), made, n)
   end
   return '{"lines": [' .. table.concat(lines, ", ") .. ']}'
end

function request()
   return stamped("POST", "/api/draft-groups", headers, create_body())
end
