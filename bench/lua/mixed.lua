-- 70% reads (35% list, 35% one group), 20% creates, 10% approvals (pool groups in scattered order), in a
-- fixed 20-request cycle per thread. Args: token, history, lo, size, stride, tag, nthreads.
-- Needs create.lua and approve.lua's functions (the harness concatenates them before this file).
function init(args)
   common_init(args)
   history = tonumber(args[2])
   lo, size, stride, order, tag = tonumber(args[3]), tonumber(args[4]), tonumber(args[5]), "scattered", args[6]
   headers = auth_headers(true)
   sent, made, n = 0, 0, 0
end

local cycle = { "a", "l", "g", "c", "l", "g", "l", "g", "c", "l", "a", "g", "l", "g", "c", "l", "g", "c", "g", "l" }

function request()
   n = n + 1
   local kind = cycle[(n - 1) % #cycle + 1]
   if kind == "a" then
      return stamped("POST", "/api/draft-groups/" .. next_group() .. "/approve", headers, "{}")
   elseif kind == "c" then
      return stamped("POST", "/api/draft-groups", headers, create_body())
   elseif kind == "l" then
      return stamped("GET", "/api/draft-groups?status=DRAFT&limit=50", headers)
   end
   return stamped("GET", "/api/draft-groups/" .. math.random(1, history), headers)
end
