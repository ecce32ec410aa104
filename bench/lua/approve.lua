-- POST /api/draft-groups/{id}/approve, each pool group once. Args: token, lo, size, stride, order, nthreads.
-- The k-th request of thread t is global number n*nthreads + t; order "scattered" approves group
-- lo + (k * stride) mod size, "recent" approves lo + k (creation order) — pgbench's approve script does
-- the same arithmetic.
function init(args)
   common_init(args)
   lo, size, stride, order = tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), args[5]
   headers = auth_headers(true)
   sent = 0
end

function next_group()
   local k = sent * nthreads + tid()
   sent = sent + 1
   if order == "recent" then
      return lo + k
   end
   return lo + (k * stride) % size
end

function request()
   return stamped("POST", "/api/draft-groups/" .. next_group() .. "/approve", headers, "{}")
end
