"""What the book's pages need besides numbers. The modules:

    exercises         the answer box: a number checked in the page, with the exercise's hints  [every chapter]
    edition           the full or the student edition (S6_EDITION; `make student`)
    style             the house style of tables and figures                    [every chapter]
    guide             the instructor guide's slips table and the assignments' rubric points  [instructor guide]
"""
