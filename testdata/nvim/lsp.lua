-- Drives `ospbox lsp` from Neovim's own LSP client (0.7 and newer), headless: opens a manifest,
-- waits for diagnostics, replaces one line, waits again, and writes both sets of diagnostics as
-- the server published them (LSP positions, UTF-16) to $OUT as JSON. Used by lsp_editor_test.go.
local published = {}
local client = vim.lsp.start_client({
  name = "ospbox",
  cmd = { os.getenv("OSPBOX_BIN"), "lsp" },
  root_dir = os.getenv("WORKSPACE"),
  handlers = {
    ["textDocument/publishDiagnostics"] = function(_, result)
      table.insert(published, result)
    end,
  },
})
local function fail(msg)
  io.stderr:write(msg .. "\n")
  vim.cmd("cquit! 2")
end
if not client then
  fail("start_client failed")
end
vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("MANIFEST")))
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client)
if not vim.wait(15000, function() return #published >= 1 end, 20) then
  fail("no diagnostics after opening")
end
local line = tonumber(os.getenv("EDIT_LINE"))
vim.api.nvim_buf_set_lines(buf, line, line + 1, false, { os.getenv("EDIT_TEXT") })
if not vim.wait(15000, function() return #published >= 2 end, 20) then
  fail("no diagnostics after the edit")
end
local f = assert(io.open(os.getenv("OUT"), "w"))
f:write(vim.fn.json_encode({ opened = published[1], edited = published[#published] }))
f:close()
vim.lsp.stop_client(client)
vim.cmd("qall!")
