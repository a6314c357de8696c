"""The OSPS lab kit grader (grader/grade). Python 3 standard library only."""
