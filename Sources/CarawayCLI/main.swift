print("caraway")
