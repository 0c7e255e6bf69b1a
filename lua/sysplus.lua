-- sysplus: the task-message extensions (taskInitEx, waitMsg, sendMsg, cleanMsg, taskDel)
-- live in sys itself, so `require("sysplus")` and `require("sys")` give the same table
-- and scripts may call them under either name.
return require("sys")
