-- Input checks (included at load time). Every script runs them on all of its inputs before its
-- first write, so a script either applies entirely or fails with an error and changes nothing.
local function finite(v, name)
  local n = tonumber(v)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then
    error({ err = 'ERR errand: ' .. name .. ' must be a finite number, got ' .. tostring(v) })
  end
  return n
end
local function count(v, name)
  local n = finite(v, name)
  if n < 0 or n ~= math.floor(n) then
    error({ err = 'ERR errand: ' .. name .. ' must be an integer >= 0, got ' .. tostring(v) })
  end
  return n
end
