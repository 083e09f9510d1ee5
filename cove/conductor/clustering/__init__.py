"""The conductor side of the clustering service: Senlin's actions (operations on
container clusters and orphan nodes) executed on the engines of cove's clusters."""
