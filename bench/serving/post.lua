-- wrk script: POSTs the file $BODY, with $CONTENT_TYPE, a bearer $TOKEN and, for binary
-- requests, Inference-Header-Content-Length $HEADER_LENGTH when they are set.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
if os.getenv("ACCEPT") then
  wrk.headers["Accept"] = os.getenv("ACCEPT")
end
if os.getenv("TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end
if os.getenv("HEADER_LENGTH") then
  wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LENGTH")
end
