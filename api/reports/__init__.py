"""Reports to the level above (分析汇总，报上级): each center's periodic analysis, archived and
delivered to its parent center."""
